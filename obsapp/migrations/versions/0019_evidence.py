"""evidence: evidence reels (a reel made from a teacher's annotations on a criterion) and school leaders

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-05 12:00:00.000000

evidence_reels: what each evidence reel was made to show (the reel itself is a row of reels). school_leaders:
the accounts an administrator made leaders (the school's aggregates only). Portable DDL only.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'evidence_reels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reel_id', sa.Integer(), nullable=False),
        sa.Column('teacher_id', sa.Integer(), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=True),
        sa.Column('criterion_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('from_date', sa.Date(), nullable=True),
        sa.Column('to_date', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_evidence_reels_criterion_id_criteria'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['reel_id'], ['reels.id'], name=op.f('fk_evidence_reels_reel_id_reels'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_evidence_reels_requester_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['teacher_id'], ['users.id'], name=op.f('fk_evidence_reels_teacher_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_reels')),
        sa.UniqueConstraint('reel_id', name=op.f('uq_evidence_reels_reel_id')),
    )
    with op.batch_alter_table('evidence_reels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_reels_teacher_id'), ['teacher_id'], unique=False)
    op.create_table(
        'school_leaders',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_school_leaders_granted_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_school_leaders_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_school_leaders')),
    )


def downgrade():
    op.drop_table('school_leaders')
    with op.batch_alter_table('evidence_reels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_reels_teacher_id'))
    op.drop_table('evidence_reels')
