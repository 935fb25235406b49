"""ids never reused on SQLite: cities, calendars, services, timetables and fares AUTOINCREMENT

A deleted row's id was given to the next row made (SQLite takes the largest id plus one), so a
link, a bookmark or an audit entry naming the old row led to the new one. PostgreSQL's
sequences never give an id twice: nothing to do there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 19:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TABLES = ('cities', 'calendars', 'services', 'timetables', 'service_fares')


def _rebuild(autoincrement):
    if op.get_bind().dialect.name != 'sqlite':
        return
    # Each table is copied into one made with (or without) AUTOINCREMENT; foreign keys are
    # off meanwhile and checked after (migrations/env.py).
    for table in TABLES:
        with op.batch_alter_table(table, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
