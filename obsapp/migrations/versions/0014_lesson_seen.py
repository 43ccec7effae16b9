"""lesson_seen: when each person last opened a lesson's page (the dashboard's "new" feedback)

Times are DateTime(timezone=True) (the model's UTCDateTime only converts values).

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-05 06:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lesson_seen',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_seen_lesson_id_lessons'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_lesson_seen_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'lesson_id', name=op.f('pk_lesson_seen')),
    )
    with op.batch_alter_table('lesson_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_seen_lesson_id'), ['lesson_id'], unique=False)


def downgrade():
    with op.batch_alter_table('lesson_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_seen_lesson_id'))
    op.drop_table('lesson_seen')
