from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector, for the embeddings and the HNSW indexes the recommender builds on."""

    initial = True
    dependencies: list = []
    operations = [VectorExtension()]
