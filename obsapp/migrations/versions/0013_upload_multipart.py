"""uploads: the S3 multipart upload behind a tus upload (OBSAPP_STORAGE=s3)

Revision ID: 0013
Revises: 0014
Create Date: 2026-12-05 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage_upload_id', sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column('storage_parts', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_column('storage_parts')
        batch_op.drop_column('storage_upload_id')
