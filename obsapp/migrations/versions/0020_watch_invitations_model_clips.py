"""watch_invitations (the host invites people to a live session); model_lessons.clip_id (a clip shared as a model);
observation_cycles.due_reminded_at (the planned observation's day came without a recording)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 11:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'watch_invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_watch_invitations_invited_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['session_id'], ['watch_sessions.id'],
                                name=op.f('fk_watch_invitations_session_id_watch_sessions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_watch_invitations_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_invitations')),
        sa.UniqueConstraint('session_id', 'user_id', name='uq_watch_invitations_session_user'),
    )
    with op.batch_alter_table('watch_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watch_invitations_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_watch_invitations_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('model_lessons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clip_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_model_lessons_clip_id_clips'), 'clips', ['clip_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_model_lessons_clip_id'), ['clip_id'], unique=False)

    with op.batch_alter_table('observation_cycles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_reminded_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('observation_cycles', schema=None) as batch_op:
        batch_op.drop_column('due_reminded_at')
    with op.batch_alter_table('model_lessons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_lessons_clip_id'))
        batch_op.drop_constraint(batch_op.f('fk_model_lessons_clip_id_clips'), type_='foreignkey')
        batch_op.drop_column('clip_id')
    with op.batch_alter_table('watch_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watch_invitations_user_id'))
        batch_op.drop_index(batch_op.f('ix_watch_invitations_session_id'))
    op.drop_table('watch_invitations')
