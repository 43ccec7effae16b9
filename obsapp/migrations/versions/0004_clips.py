"""clips, reels and the feedback inbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 06:10:00.000000

Written by hand in the shape autogenerate gives (the revisions before it were being written at the same
time), then checked against the models with ``flask db check``: timestamps as plain DateTime(timezone=True)
(the models' UTCDateTime only converts values), server defaults for the flags and counters. No foreign key
for clips.annotation_id: a clip outlives its annotation. Portable DDL only (SQLite and PostgreSQL).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=True),
    sa.Column('annotation_id', sa.Integer(), nullable=True),
    sa.Column('start_ms', sa.BigInteger(), nullable=False),
    sa.Column('end_ms', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('accurate', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('captions', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('blur_faces', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('criteria', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=20), nullable=True),
    sa.Column('media_start_ms', sa.BigInteger(), nullable=True),
    sa.Column('duration_ms', sa.BigInteger(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('media_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_clips_creator_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_clips_lesson_id_lessons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clips'))
    )
    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clips_annotation_id'), ['annotation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clips_creator_id'), ['creator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clips_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clips_status'), ['status'], unique=False)

    op.create_table('reels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('creator_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=20), nullable=True),
    sa.Column('chapters', sa.JSON(), nullable=True),
    sa.Column('lesson_ids', sa.JSON(), nullable=False),
    sa.Column('clip_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('duration_ms', sa.BigInteger(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('media_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_reels_creator_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reels'))
    )
    with op.batch_alter_table('reels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reels_creator_id'), ['creator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reels_status'), ['status'], unique=False)

    op.create_table('reel_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reel_id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_reel_items_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reel_id'], ['reels.id'], name=op.f('fk_reel_items_reel_id_reels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reel_items')),
    sa.UniqueConstraint('reel_id', 'position', name=op.f('uq_reel_items_reel_id'))
    )
    with op.batch_alter_table('reel_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reel_items_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reel_items_reel_id'), ['reel_id'], unique=False)

    op.create_table('feedback_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clip_id', sa.Integer(), nullable=True),
    sa.Column('reel_id', sa.Integer(), nullable=True),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('watched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(clip_id IS NULL) <> (reel_id IS NULL)', name=op.f('ck_feedback_items_one_item')),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_feedback_items_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_feedback_items_recipient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reel_id'], ['reels.id'], name=op.f('fk_feedback_items_reel_id_reels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sender_id'], ['users.id'], name=op.f('fk_feedback_items_sender_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_items')),
    sa.UniqueConstraint('clip_id', 'recipient_id', name=op.f('uq_feedback_items_clip_id')),
    sa.UniqueConstraint('reel_id', 'recipient_id', name=op.f('uq_feedback_items_reel_id'))
    )
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_items_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_items_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_items_reel_id'), ['reel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_items_sender_id'), ['sender_id'], unique=False)


def downgrade():
    with op.batch_alter_table('feedback_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_items_sender_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_items_reel_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_items_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_items_clip_id'))

    op.drop_table('feedback_items')
    with op.batch_alter_table('reel_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reel_items_reel_id'))
        batch_op.drop_index(batch_op.f('ix_reel_items_clip_id'))

    op.drop_table('reel_items')
    with op.batch_alter_table('reels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reels_status'))
        batch_op.drop_index(batch_op.f('ix_reels_creator_id'))

    op.drop_table('reels')
    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clips_status'))
        batch_op.drop_index(batch_op.f('ix_clips_lesson_id'))
        batch_op.drop_index(batch_op.f('ix_clips_creator_id'))
        batch_op.drop_index(batch_op.f('ix_clips_annotation_id'))

    op.drop_table('clips')
