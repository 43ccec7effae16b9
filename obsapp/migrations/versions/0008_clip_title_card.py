"""clips: optional title card

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_card', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('title_card_ms', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.drop_column('title_card_ms')
        batch_op.drop_column('title_card')
