"""city aliases: the other names travellers type for a city ("Canton", "SFO"), as a JSON list

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 17:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # Every city already there gets an empty list.
    with op.batch_alter_table('cities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aliases', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('cities', schema=None) as batch_op:
        batch_op.drop_column('aliases')
