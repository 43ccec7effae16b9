"""privacy: lesson consent records and the access audit

Revision ID: 0009
Revises: 0012
Create Date: 2026-12-05 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lesson_consents',
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('consent', sa.String(length=24), nullable=False),
        sa.Column('pinned', sa.Boolean(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_consents_lesson_id_lessons'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_lesson_consents_set_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('lesson_id', name=op.f('pk_lesson_consents')),
    )
    # Lessons made before consent was recorded keep what they had: nothing was blurred unless asked.
    op.execute("INSERT INTO lesson_consents (lesson_id, consent, pinned, updated_at) "
               "SELECT id, 'all_consented', false, created_at FROM lessons")
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=True),
        sa.Column('lesson_title', sa.String(length=200), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('user_name', sa.String(length=120), nullable=True),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_entries_lesson_at', ['lesson_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_entries_recent', ['user_id', 'lesson_id', 'action', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_recent')
        batch_op.drop_index('ix_audit_entries_lesson_at')
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
    op.drop_table('audit_entries')
    op.drop_table('lesson_consents')
