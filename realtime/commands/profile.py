"""Socket commands: profile, prompts, quiz, badges and compatibility (CONTRACT section 2 "Commands").

Input models check JSON types only (strictly: ``"25"`` is not a number and
``true`` is not 1); every value rule lives in ``domain/profiles/rules.py``.
"""

from __future__ import annotations

import uuid

from pydantic import ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from domain.compatibility import service as compatibility
from domain.profiles import rules
from domain.profiles import service as profiles
from domain.safety.screen import screen
from domain.wire import replies as r
from realtime.context import CommandContext
from realtime.registry import REGISTRY, CommandInput, NoInput

GENDER_LIST = "woman, man or nonbinary"


# --- inputs -------------------------------------------------------------------------------------------------

class LocationIn(CommandInput):
    lat: StrictFloat = Field(description="latitude, -90 to 90")
    lon: StrictFloat = Field(description="longitude, -180 to 180")


class UpdateIn(CommandInput):
    """Any of the editable fields. Unknown and read-only fields are refused by the domain, each named."""

    # extras reach the domain so that it can say "read-only" or "unknown field" for each; still documented closed
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    display_name: StrictStr | None = Field(default=None, description=f"1-{rules.DISPLAY_NAME_MAX} characters "
                                           "after trimming and collapsing spaces; letters of one script, digits, "
                                           "single spaces and ' - . · (no emoji, invisible or bidi characters; "
                                           "docs/security.md)")
    bio: StrictStr | None = Field(default=None, description=f"at most {rules.BIO_MAX} characters; line breaks "
                                  "allowed, bidi overrides/isolates not; \"\" clears it")
    gender: StrictStr | None = Field(default=None, description=f"{GENDER_LIST}; null clears it")
    interested_in: list[StrictStr] | None = Field(default=None, description=f"genders ({GENDER_LIST}) without "
                                                  "repeats; [] is allowed but makes the profile undiscoverable")
    age_min: StrictInt | None = Field(default=None, description=f"{rules.AGE_MIN}-{rules.AGE_MAX}, <= age_max "
                                      "(the stored one when age_max is not sent)")
    age_max: StrictInt | None = Field(default=None, description=f"{rules.AGE_MIN}-{rules.AGE_MAX}, >= age_min")
    max_distance_km: StrictInt | None = Field(default=None, description=f"{rules.DISTANCE_MIN_KM}-"
                                              f"{rules.DISTANCE_MAX_KM}")
    location: LocationIn | None = Field(default=None, description="{lat, lon}; null clears it. Kept as the centre "
                                        "of its ~1 km grid cell; a change of cell at most 10 times an hour and "
                                        "never faster than 1,000 km/h (rate_limited with retry_after_s)")


class PromptIn(CommandInput):
    prompt_id: StrictStr = Field(max_length=48, pattern=r"^[a-z0-9_]+$", description="an id from prompts.catalog")


class AnswerIn(PromptIn):
    answer: StrictStr = Field(description=f"1-{rules.ANSWER_MAX} characters after trimming")


class QuizIn(CommandInput):
    answers: dict[str, StrictInt] = Field(description="all six traits of quiz.questions, each a whole number 1-5")


class MaybeUserIn(CommandInput):
    user_id: uuid.UUID | None = Field(default=None, description="another user; omitted: yourself")


class CompareIn(CommandInput):
    user_id: uuid.UUID = Field(description="another user (not yourself)")


# --- handlers -----------------------------------------------------------------------------------------------

@REGISTRY.command("me.get", NoInput, summary="Your own full profile.", reply=r.UserReply)
async def me_get(ctx: CommandContext, data: NoInput) -> r.UserReply:
    async with ctx.transaction() as session:
        return await profiles.get_me(session, ctx.deps.storage, ctx.principal.user_id)


@REGISTRY.command("me.update", UpdateIn, summary="Change any of your editable profile fields.", reply=r.UserReply)
async def me_update(ctx: CommandContext, data: UpdateIn) -> r.UserReply:
    async with ctx.transaction() as session:
        await screen(session, ctx.deps.events, ctx.deps.content_filter.words, ctx.principal.user_id,
                     {"display_name": data.display_name, "bio": data.bio})
        return await profiles.update_me(session, ctx.deps.storage, ctx.deps.events,
                                        ctx.principal.user_id, data.model_dump(exclude_unset=True))


@REGISTRY.command("prompts.catalog", NoInput, summary="Every prompt you can answer, in catalogue order.",
                  reply=r.CatalogReply)
async def prompts_catalog(ctx: CommandContext, data: NoInput) -> r.CatalogReply:
    async with ctx.transaction() as session:
        return await profiles.prompt_catalog(session)


@REGISTRY.command("prompts.answer", AnswerIn, summary="Answer a prompt (again: replace the answer); at most 3.",
                  reply=r.PromptsReply)
async def prompts_answer(ctx: CommandContext, data: AnswerIn) -> r.PromptsReply:
    async with ctx.transaction() as session:
        await screen(session, ctx.deps.events, ctx.deps.content_filter.words, ctx.principal.user_id,
                     {"answer": data.answer})
        return await profiles.answer_prompt(session, ctx.principal.user_id, data.prompt_id, data.answer)


@REGISTRY.command("prompts.list", NoInput, summary="Your prompt answers.", reply=r.PromptsReply)
async def prompts_list(ctx: CommandContext, data: NoInput) -> r.PromptsReply:
    async with ctx.transaction() as session:
        return await profiles.list_prompts(session, ctx.principal.user_id)


@REGISTRY.command("prompts.delete", PromptIn, summary="Remove one of your prompt answers.", reply=r.PromptsReply)
async def prompts_delete(ctx: CommandContext, data: PromptIn) -> r.PromptsReply:
    async with ctx.transaction() as session:
        return await profiles.delete_prompt(session, ctx.principal.user_id, data.prompt_id)


@REGISTRY.command("quiz.questions", NoInput, summary="The six quiz questions with their 1-5 scale labels.",
                  reply=r.QuestionsReply)
async def quiz_questions(ctx: CommandContext, data: NoInput) -> r.QuestionsReply:
    return profiles.quiz_questions()


@REGISTRY.command("quiz.submit", QuizIn, summary="Submit (or resubmit) all six quiz answers.", reply=r.QuizReply)
async def quiz_submit(ctx: CommandContext, data: QuizIn) -> r.QuizReply:
    async with ctx.transaction() as session:
        return await profiles.submit_quiz(session, ctx.deps.events, ctx.principal.user_id,
                                          data.answers)


@REGISTRY.command("badges.list", MaybeUserIn, summary="Your badges, or another user's.", reply=r.BadgesReply)
async def badges_list(ctx: CommandContext, data: MaybeUserIn) -> r.BadgesReply:
    async with ctx.transaction() as session:
        return await profiles.list_badges(session, ctx.principal.user_id, data.user_id)


@REGISTRY.command("compatibility.get", CompareIn, summary="How your quiz compares with another user's.",
                  reply=r.CompatibilityReply)
async def compatibility_get(ctx: CommandContext, data: CompareIn) -> r.CompatibilityReply:
    async with ctx.transaction() as session:
        return await compatibility.compatibility(session, ctx.principal.user_id, data.user_id)
