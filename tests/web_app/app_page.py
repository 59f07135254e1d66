"""One person's tab of the reference web app, driven through Playwright by its labels and roles (as a person
would use it), with a record of page errors and CSP refusals."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.support.users import PASSWORD, new_email

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Error, Locator, Page, ViewportSize

WAIT_MS = 15_000
LIVE_MS = 5_000  # what "live" means here: no reload, within a few seconds on a shared CI machine
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


def portrait_png(hue: int) -> bytes:
    """A small picture to upload (the server re-encodes it to JPEG)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 480), (40 + hue % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((110, 90, 250, 250), fill=(235, 200, 170))
    draw.rectangle((80, 270, 280, 480), fill=(250 - hue % 200, 120, 80))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class AppPage:
    """A person's tab: their own browser context (own sessionStorage), on one site's origin."""

    page: Page
    origin: str
    name: str
    email: str = field(default_factory=new_email)
    problems: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, browser: Browser, origin: str, name: str, viewport: ViewportSize = DESKTOP,
                   path: str = "/app") -> AppPage:
        context = await browser.new_context(viewport=viewport, base_url=origin)
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        page = await context.new_page()
        person = cls(page, origin, name)
        page.on("pageerror", person._on_page_error)
        page.on("console", person._on_console)
        await page.goto(path)
        return person

    def _on_page_error(self, error: Error) -> None:
        self.problems.append(f"page error: {error}")

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.problems.append(f"console: {message.text}")

    async def close(self) -> None:
        await self.page.context.close()

    # -- the shell ---------------------------------------------------------------------------------------

    async def wait_state(self, state: str, timeout_ms: int = WAIT_MS) -> None:
        await self.page.locator(f'#conn[data-state="{state}"]').wait_for(state="attached", timeout=timeout_ms)

    async def go(self, tab: str) -> None:
        await self.page.get_by_role("navigation", name="Main").get_by_role("link", name=tab).click()

    def alert(self) -> Locator:
        return self.page.locator("main [role=alert]:not([hidden])").first

    # -- screens --------------------------------------------------------------------------------------------

    async def sign_up(self, birthdate: str = "1995-04-12") -> None:
        await self.page.get_by_role("button", name="Create an account").click()
        await self.page.get_by_label("Your name").fill(self.name)
        await self.page.get_by_label("Email").fill(self.email)
        await self.page.get_by_label("Password").fill(PASSWORD)
        await self.page.get_by_label("Birthdate").fill(birthdate)
        await self.page.get_by_role("button", name="Sign up").click()
        await self.page.get_by_role("heading", name="Your profile").wait_for()
        await self.wait_state("open")

    async def log_in(self, email: str, password: str = PASSWORD) -> None:
        await self.page.get_by_label("Email").fill(email)
        await self.page.get_by_label("Password").fill(password)
        await self.page.get_by_role("button", name="Log in").click()

    async def set_profile(self, *, gender: str, interested_in: str, lat: float, lon: float, bio: str) -> None:
        form = self.page.locator("form", has=self.page.get_by_role("heading", name="About you"))
        await form.get_by_label("Bio").fill(bio)
        await form.get_by_label("Gender").select_option(gender)
        for box in await form.get_by_role("checkbox").all():
            await box.set_checked(await box.get_attribute("value") == interested_in)
        await form.get_by_label("Youngest age").fill("18")
        await form.get_by_label("Oldest age").fill("60")
        await form.get_by_label("Distance (km)").fill("50")
        await form.get_by_label("Latitude").fill(str(lat))
        await form.get_by_label("Longitude").fill(str(lon))
        await form.get_by_role("button", name="Save profile").click()
        await form.get_by_text("Saved.").wait_for()

    async def upload_photo(self, hue: int) -> None:
        await self.page.get_by_label("Add a photo").set_input_files(
            {"name": "me.png", "mimeType": "image/png", "buffer": portrait_png(hue)})
        await self.page.get_by_role("list", name="Your photos").get_by_role("img", name="Photo 1").wait_for()

    async def answer_prompt(self, answer: str) -> None:
        await self.page.get_by_label("Your answer").fill(answer)
        await self.page.get_by_role("button", name="Save answer").click()
        await self.page.get_by_role("list", name="Your prompts").get_by_text(answer).wait_for()

    async def take_quiz(self, answers: list[int]) -> None:
        quiz = self.page.locator("#quiz")
        questions = quiz.locator("fieldset")
        await questions.nth(5).wait_for()
        assert await questions.count() == 6
        for index, value in enumerate(answers):
            await questions.nth(index).get_by_role("radio").nth(value - 1).check()
        await quiz.get_by_role("button", name="Submit the quiz").click()
        await self.page.get_by_text("Quiz saved.").wait_for()

    def card(self, name: str) -> Locator:
        return self.page.locator("#discover-stage article.person", has_text=name)

    def match_entry(self, name: str) -> Locator:
        return self.page.locator("#matches-list li.match", has_text=name)

    def messages(self) -> Locator:
        return self.page.locator("#messages li.msg")

    async def message_texts(self) -> list[str]:
        return [text.strip() for text in await self.page.locator("#messages li.msg .body").all_inner_texts()]

    async def send(self, text: str) -> None:
        await self.page.get_by_label("Message", exact=True).fill(text)
        await self.page.get_by_role("button", name="Send").click()
