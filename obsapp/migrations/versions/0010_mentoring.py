"""mentoring: goals and evidence, observation cycles, journal, notifications

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 06:20:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('goals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('teacher_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('success', sa.Text(), nullable=False),
        sa.Column('target_date', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_goals_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['teacher_id'], ['users.id'], name=op.f('fk_goals_teacher_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_goals'))
    )
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goals_teacher_id'), ['teacher_id'], unique=False)

    op.create_table('goal_criteria',
        sa.Column('goal_id', sa.Integer(), nullable=False),
        sa.Column('criterion_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_goal_criteria_criterion_id_criteria'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_goal_criteria_goal_id_goals'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('goal_id', 'criterion_id', name=op.f('pk_goal_criteria'))
    )

    op.create_table('observation_cycles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('mentor_id', sa.Integer(), nullable=False),
        sa.Column('mentee_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('focus', sa.Text(), nullable=False),
        sa.Column('look_fors', sa.Text(), nullable=False),
        sa.Column('pre_notes', sa.Text(), nullable=False),
        sa.Column('planned_for', sa.Date(), nullable=True),
        sa.Column('lesson_id', sa.Integer(), nullable=True),
        sa.Column('self_review_first', sa.Boolean(), nullable=False),
        sa.Column('blind_mentor', sa.Boolean(), nullable=False),
        sa.Column('self_review_done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('mentor_review_done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('went_well', sa.Text(), nullable=False),
        sa.Column('post_notes', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_observation_cycles_lesson_id_lessons'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['mentee_id'], ['users.id'], name=op.f('fk_observation_cycles_mentee_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['mentor_id'], ['users.id'], name=op.f('fk_observation_cycles_mentor_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_observation_cycles'))
    )
    with op.batch_alter_table('observation_cycles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observation_cycles_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_cycles_mentee_id'), ['mentee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_cycles_mentor_id'), ['mentor_id'], unique=False)

    op.create_table('cycle_goals',
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('goal_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['observation_cycles.id'], name=op.f('fk_cycle_goals_cycle_id_observation_cycles'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_cycle_goals_goal_id_goals'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('cycle_id', 'goal_id', name=op.f('pk_cycle_goals'))
    )

    op.create_table('cycle_next_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('goal_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['observation_cycles.id'], name=op.f('fk_cycle_next_steps_cycle_id_observation_cycles'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_cycle_next_steps_goal_id_goals'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cycle_next_steps'))
    )
    with op.batch_alter_table('cycle_next_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cycle_next_steps_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('journal_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('visibility', sa.String(length=8), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=True),
        sa.Column('t_ms', sa.BigInteger(), nullable=True),
        sa.Column('goal_id', sa.Integer(), nullable=True),
        sa.Column('cycle_id', sa.Integer(), nullable=True),
        sa.Column('shared_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_journal_entries_author_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['cycle_id'], ['observation_cycles.id'], name=op.f('fk_journal_entries_cycle_id_observation_cycles'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_journal_entries_goal_id_goals'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_journal_entries_lesson_id_lessons'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries'))
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_entries_author_id'), ['author_id'], unique=False)

    op.create_table('journal_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_journal_replies_author_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_journal_replies_entry_id_journal_entries'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_replies'))
    )
    with op.batch_alter_table('journal_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_replies_entry_id'), ['entry_id'], unique=False)

    op.create_table('goal_evidence',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('goal_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('ref_id', sa.Integer(), nullable=False),
        sa.Column('annotation_id', sa.Integer(), nullable=True),
        sa.Column('clip_id', sa.Integer(), nullable=True),
        sa.Column('lesson_id', sa.Integer(), nullable=True),
        sa.Column('journal_entry_id', sa.Integer(), nullable=True),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_goal_evidence_added_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_goal_evidence_annotation_id_annotations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_goal_evidence_clip_id_clips'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['goal_id'], ['goals.id'], name=op.f('fk_goal_evidence_goal_id_goals'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['journal_entry_id'], ['journal_entries.id'], name=op.f('fk_goal_evidence_journal_entry_id_journal_entries'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_goal_evidence_lesson_id_lessons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_goal_evidence')),
        sa.UniqueConstraint('goal_id', 'kind', 'ref_id', name='uq_goal_evidence_item')
    )
    with op.batch_alter_table('goal_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goal_evidence_annotation_id'), ['annotation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_goal_evidence_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_goal_evidence_goal_id'), ['goal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_goal_evidence_journal_entry_id'), ['journal_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_goal_evidence_lesson_id'), ['lesson_id'], unique=False)

    op.create_table('notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)

    op.create_table('notification_settings',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('email', sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_settings'))
    )

    op.create_table('model_lessons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('audience', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_model_lessons_lesson_id_lessons'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_model_lessons_owner_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_model_lessons'))
    )
    with op.batch_alter_table('model_lessons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_lessons_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_lessons_owner_id'), ['owner_id'], unique=False)

    op.create_table('model_lesson_criteria',
        sa.Column('model_id', sa.Integer(), nullable=False),
        sa.Column('criterion_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_model_lesson_criteria_criterion_id_criteria'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['model_id'], ['model_lessons.id'], name=op.f('fk_model_lesson_criteria_model_id_model_lessons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('model_id', 'criterion_id', name=op.f('pk_model_lesson_criteria'))
    )

    op.create_table('model_lesson_recipients',
        sa.Column('model_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['model_id'], ['model_lessons.id'], name=op.f('fk_model_lesson_recipients_model_id_model_lessons'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_model_lesson_recipients_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('model_id', 'user_id', name=op.f('pk_model_lesson_recipients'))
    )
    with op.batch_alter_table('model_lesson_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_lesson_recipients_user_id'), ['user_id'], unique=False)

    op.create_table('model_lesson_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('model_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('t_ms', sa.BigInteger(), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_model_lesson_notes_author_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['model_id'], ['model_lessons.id'], name=op.f('fk_model_lesson_notes_model_id_model_lessons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_model_lesson_notes'))
    )
    with op.batch_alter_table('model_lesson_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_lesson_notes_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_lesson_notes_model_id'), ['model_id'], unique=False)

    op.create_table('reflection_prompts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reflection_prompts'))
    )


def downgrade():
    for name in ('reflection_prompts', 'model_lesson_notes', 'model_lesson_recipients', 'model_lesson_criteria', 'model_lessons',
                 'notification_settings', 'notifications', 'goal_evidence', 'journal_replies', 'journal_entries',
                 'cycle_next_steps', 'cycle_goals', 'observation_cycles', 'goal_criteria', 'goals'):
        op.drop_table(name)
