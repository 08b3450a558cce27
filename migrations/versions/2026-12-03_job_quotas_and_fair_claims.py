"""Jobs: exclusive keys (one schedule run per programme), claim times (trusts served in turn),
and indexes for counting a trust's jobs under way

Revision ID: 2026_12_03_job_quotas
Revises: 2026_11_23_visits
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types


revision: str = '2026_12_03_job_quotas'
down_revision: str | None = '2026_11_23_visits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exclusive_key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', app.core.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_job_trust_open', ['trust_id', 'status'], unique=False)
        batch_op.create_index('ix_job_trust_claimed', ['trust_id', 'claimed_at'], unique=False)
    _key_runs_under_way()


def _key_runs_under_way() -> None:
    """Schedule runs queued or running at the upgrade keep a second run of their programme out,
    as the check they replace did (the key is app/scheduling/service.py's)."""
    job = sa.table(
        'job',
        sa.column('id', sa.Uuid()),
        sa.column('status', sa.String()),
        sa.column('exclusive_key', sa.String()),
    )
    run = sa.table('schedule_run', sa.column('job_id', sa.Uuid()), sa.column('programme_id', sa.Uuid()))
    connection = op.get_bind()
    under_way = connection.execute(
        sa.select(run.c.job_id, run.c.programme_id)
        .join(job, job.c.id == run.c.job_id)
        .where(job.c.status.in_(['queued', 'running']))
    ).all()
    for job_id, programme_id in under_way:
        connection.execute(
            job.update().where(job.c.id == job_id).values(exclusive_key=f'scheduling.run:{programme_id}')
        )


def downgrade() -> None:
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_trust_claimed')
        batch_op.drop_index('ix_job_trust_open')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('exclusive_key')
