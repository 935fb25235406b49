"""audit summary words: each audit entry's description as its message and values, to translate

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 12:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column: the rows already there keep their English summary, shown as written.
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary_words', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('summary_words')
