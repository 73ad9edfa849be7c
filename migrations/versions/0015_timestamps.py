"""Trusted timestamps (RFC 3161): the tokens (the authority's answer, DER, with its certificates),
where each clip's stamp stands, anchors of chain heads (one stamp over a Merkle root) with each
chain's inclusion proof, and the schedule of periodic tasks.

Clips stored before this revision get no stamp row: with an authority configured, the retry task
stamps them too.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


APPEND_ONLY = ("timestamp_tokens", "anchors", "anchor_inclusions")


def _refuse_changes(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def upgrade() -> None:
    op.create_table(
        "timestamp_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False, index=True),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("tsa_url", sa.Text, nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("serial_number", sa.String(64), nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
        sa.Column("tsa_certs_pem", sa.Text, nullable=False),
        sa.Column("root_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "clip_timestamps",
        sa.Column("clip_id", sa.String(36), sa.ForeignKey("clips.id"), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("timestamp_tokens.id"), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True, index=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "anchors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("chain_count", sa.Integer, nullable=False),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("timestamp_tokens.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "anchor_inclusions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("anchor_id", sa.Integer, sa.ForeignKey("anchors.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("chain_id", sa.String(36), nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("proof", sa.Text, nullable=False),
    )
    # A chain's newest anchored head is what its check and the next anchoring look up.
    op.create_index("ix_anchor_inclusions_chain", "anchor_inclusions", ["kind", "chain_id", "length"])
    # Tokens and anchors are evidence: refused in the database itself too, as custody_events (0001).
    for table in APPEND_ONLY:
        _refuse_changes(table)
    op.create_table(
        "periodic_runs",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    op.drop_table("periodic_runs")
    op.drop_index("ix_anchor_inclusions_chain", "anchor_inclusions")
    op.drop_table("anchor_inclusions")
    op.drop_table("anchors")
    op.drop_table("clip_timestamps")
    op.drop_table("timestamp_tokens")
