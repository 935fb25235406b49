"""content version: a counter of every change public pages show, and what each changed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _recreate():
    # SQLite cannot add a column whose default is CURRENT_TIMESTAMP: copy the table instead.
    return 'always' if op.get_bind().dialect.name == 'sqlite' else 'auto'


def upgrade():
    with op.batch_alter_table('data_version', schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(sa.Column('content_version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('content_changed_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False))
    op.create_table('content_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('content_version', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_changes'))
    )
    with op.batch_alter_table('content_changes', schema=None) as batch_op:
        batch_op.create_index('ix_content_changes_version', ['content_version'], unique=False)


def downgrade():
    with op.batch_alter_table('content_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_content_changes_version')
    op.drop_table('content_changes')
    with op.batch_alter_table('data_version', schema=None, recreate=_recreate()) as batch_op:
        batch_op.drop_column('content_changed_at')
        batch_op.drop_column('content_version')
