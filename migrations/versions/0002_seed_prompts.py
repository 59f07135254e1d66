"""Seed the prompt catalogue.

Revision ID: 0002_seed_prompts
Revises: 0001_initial
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_seed_prompts"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (slug, text) in catalogue order; slugs are stable ids that clients store, never rename one.
PROMPTS: tuple[tuple[str, str], ...] = (
    ("two_truths", "Two truths and a lie"),
    ("perfect_sunday", "My ideal Sunday looks like"),
    ("green_flag", "A green flag I look for"),
    ("simple_pleasures", "My simplest pleasures"),
    ("go_to_story", "The story my friends always ask me to tell"),
    ("learning_now", "Something I'm learning right now"),
    ("best_trip", "The best trip I've taken"),
    ("comfort_food", "My comfort food, no judgement please"),
    ("unpopular_opinion", "My most harmless unpopular opinion"),
    ("first_date", "An easy first date I'd suggest"),
    ("recent_laugh", "The last thing that made me laugh out loud"),
    ("proud_of", "Something I'm quietly proud of"),
    ("weekend_plans", "You'll probably find me this weekend"),
    ("love_language", "I feel most appreciated when"),
    ("hidden_talent", "A hidden talent of mine"),
    ("together_we_could", "Together we could"),
    ("dont_laugh", "Don't laugh, but I really enjoy"),
    ("book_or_show", "A book, show or podcast I keep recommending"),
    ("life_goal", "One thing on my list for this year"),
    ("friends_describe", "My friends would describe me as"),
    ("win_me_over", "The way to win me over is"),
    ("geek_out", "I could talk for hours about"),
    ("local_spot", "My favourite spot in town"),
    ("small_kindness", "A small kindness I'll never forget"),
    ("looking_for", "What I'm looking for here"),
    ("cook_for_you", "What I'd cook for you"),
    ("morning_or_night", "Morning person or night owl, and why"),
    ("song_on_repeat", "The song I have on repeat"),
    ("bucket_list", "Top of my bucket list"),
    ("change_my_mind", "Try to change my mind about"),
)


def _prompts_table() -> sa.TableClause:
    return sa.table("prompts", sa.column("id", sa.String), sa.column("text", sa.String),
                    sa.column("position", sa.SmallInteger))


def upgrade() -> None:
    op.bulk_insert(_prompts_table(), [
        {"id": slug, "text": text, "position": position} for position, (slug, text) in enumerate(PROMPTS)
    ])


def downgrade() -> None:
    slugs = [slug for slug, _ in PROMPTS]
    # answers reference prompts without ON DELETE CASCADE, so remove them explicitly first
    answers = sa.table("prompt_answers", sa.column("prompt_id", sa.String))
    op.execute(answers.delete().where(answers.c.prompt_id.in_(slugs)))
    prompts = _prompts_table()
    op.execute(prompts.delete().where(prompts.c.id.in_(slugs)))
