"""talk: speech segments per lesson

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-05 07:00:00.000000

One row per lesson: its speech segments and status. Portable DDL only (SQLite and PostgreSQL).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'talk_analyses',
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('media_version', sa.Integer(), nullable=False),
        sa.Column('duration_ms', sa.BigInteger(), nullable=False),
        sa.Column('speech_ms', sa.BigInteger(), nullable=False),
        sa.Column('segments', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_talk_analyses_lesson_id_lessons'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('lesson_id', name=op.f('pk_talk_analyses')),
    )


def downgrade():
    op.drop_table('talk_analyses')
