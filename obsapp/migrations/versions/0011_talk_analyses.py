"""talk: speech segments per lesson; calibration exercises and their coders

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-05 07:00:00.000000

talk_analyses: one row per lesson, its speech segments and status. calibration_exercises and
calibration_coders: double coding of a lesson and each coder's submitted codes. Portable DDL only (SQLite and PostgreSQL).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0013'
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

    op.create_table(
        'calibration_exercises',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('tolerance_ms', sa.Integer(), nullable=False),
        sa.Column('unit_ms', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['lead_id'], ['users.id'], name=op.f('fk_calibration_exercises_lead_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'],
                                name=op.f('fk_calibration_exercises_lesson_id_lessons'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_exercises')),
    )
    with op.batch_alter_table('calibration_exercises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_exercises_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calibration_exercises_lesson_id'), ['lesson_id'], unique=False)
    op.create_table(
        'calibration_coders',
        sa.Column('exercise_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('codes', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['exercise_id'], ['calibration_exercises.id'],
                                name=op.f('fk_calibration_coders_exercise_id_calibration_exercises'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calibration_coders_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('exercise_id', 'user_id', name=op.f('pk_calibration_coders')),
    )


def downgrade():
    op.drop_table('calibration_coders')
    with op.batch_alter_table('calibration_exercises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_exercises_lesson_id'))
        batch_op.drop_index(batch_op.f('ix_calibration_exercises_lead_id'))
    op.drop_table('calibration_exercises')
    op.drop_table('talk_analyses')
