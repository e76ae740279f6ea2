"""Posts' words judged at teens' thresholds (recommender.models.VideoVector.teen_text_ok), and an index
of the rows the embedding task still has to do. Posts already there are judged by the embedding
sweep, a batch at a time; until then (NULL) they are not served to teens."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0004_video_factors"),
    ]

    operations = [
        migrations.AddField(
            model_name="videovector",
            name="teen_text_ok",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="videovector",
            index=models.Index(
                condition=models.Q(
                    ("content__isnull", True), ("teen_text_ok__isnull", True), _connector="OR"
                ),
                fields=["posted_at"],
                name="video_vector_waiting",
            ),
        ),
    ]
