"""Posts' ALS item factors move to a table of their own (recommender.models.VideoFactors): a training
rewrites them all, and rewriting a `recommender_videovector` row re-inserts it into the HNSW index."""

import django.utils.timezone
import pgvector.django.halfvec
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('recommender', '0003_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='VideoFactors',
            fields=[
                ('video_id', models.UUIDField(primary_key=True, serialize=False)),
                ('collab', pgvector.django.halfvec.HalfVectorField(dimensions=64)),
                ('model_version', models.CharField(max_length=64)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'verbose_name_plural': 'video factors',
            },
        ),
        migrations.RunSQL(
            "INSERT INTO recommender_videofactors (video_id, collab, model_version, updated_at)"
            " SELECT v.video_id, v.collab, COALESCE(m.version, ''), v.updated_at"
            " FROM recommender_videovector v"
            " LEFT JOIN (SELECT version FROM recommender_collabmodel ORDER BY trained_at DESC LIMIT 1) m ON true"
            " WHERE v.collab IS NOT NULL",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveField(
            model_name='videovector',
            name='collab',
        ),
    ]
