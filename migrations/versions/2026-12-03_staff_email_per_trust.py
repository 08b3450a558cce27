"""Staff email addresses unique per trust, not across trusts; no secrets left in idempotency
records or in invitations to accounts that already have a password

Revision ID: 2026_12_03_staff_email
Revises: 2026_12_03_job_quotas
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '2026_12_03_staff_email'
down_revision: str | None = '2026_12_03_job_quotas'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Response fields that held an invitation token before idempotency records withheld secrets.
INVITATION_FIELDS = ('invitation', 'first_admin_invitation')


def upgrade() -> None:
    _forget_stored_tokens()
    _end_invitations_to_accounts_in_use()
    with _sqlite_foreign_keys_off(), op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.drop_constraint('uq_staff_member_email', type_='unique')
        batch_op.create_unique_constraint('uq_staff_member_email_trust_id', ['email', 'trust_id'])


def downgrade() -> None:
    # Fails while two trusts share an address, as it must: the old rule cannot hold them both.
    with _sqlite_foreign_keys_off(), op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.drop_constraint('uq_staff_member_email_trust_id', type_='unique')
        batch_op.create_unique_constraint('uq_staff_member_email', ['email'])


@contextmanager
def _sqlite_foreign_keys_off() -> Iterator[None]:
    """Batch mode rebuilds the table on SQLite and drops the old one, and with foreign keys on,
    that drop deletes every role grant and session (ON DELETE CASCADE) or fails on the other
    references. The pragma only changes outside a transaction, hence the autocommit blocks."""
    if op.get_bind().dialect.name != 'sqlite':
        yield
        return
    with op.get_context().autocommit_block():
        op.execute('PRAGMA foreign_keys=OFF')
    try:
        yield
    finally:
        with op.get_context().autocommit_block():
            op.execute('PRAGMA foreign_keys=ON')


def _forget_stored_tokens() -> None:
    records = sa.table(
        'idempotency_record', sa.column('id', sa.Uuid()), sa.column('response_body', sa.JSON())
    )
    bind = op.get_bind()
    for record_id, body in bind.execute(sa.select(records.c.id, records.c.response_body)).all():
        scrubbed = _without_tokens(body)
        if scrubbed != body:
            bind.execute(
                records.update().where(records.c.id == record_id).values(response_body=scrubbed)
            )


def _without_tokens(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    scrubbed = dict(body)
    for field in INVITATION_FIELDS:
        invitation = scrubbed.get(field)
        if isinstance(invitation, dict) and invitation.get('token') is not None:
            scrubbed[field] = invitation | {'token': None}
    return scrubbed


def _end_invitations_to_accounts_in_use() -> None:
    """Such an invitation was a re-invitation that could replace its holder's password."""
    staff = sa.table(
        'staff_member',
        sa.column('password_hash', sa.String()),
        sa.column('invitation_digest', sa.String()),
        sa.column('invitation_expires_at', sa.DateTime()),
    )
    op.execute(
        staff.update()
        .where(staff.c.password_hash.is_not(None), staff.c.invitation_digest.is_not(None))
        .values(invitation_digest=None, invitation_expires_at=None)
    )
