"""frameworks offered per lesson

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-25 07:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lesson_frameworks',
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_frameworks_lesson_id_lessons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('lesson_id', 'slug', name=op.f('pk_lesson_frameworks'))
    )


def downgrade():
    op.drop_table('lesson_frameworks')
