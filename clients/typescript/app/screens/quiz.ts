// The quiz: 6 questions, each answered 1 to 5 between its two ends; the result is badges and compatibility.

import type { Question } from "../../src/index.js";
import { h, messageArea, busy, replace } from "../dom.js";
import { explain } from "../errors.js";
import { live, type App } from "../app.js";

export function quizSection(app: App): HTMLElement {
  const state = live(app);
  const message = messageArea();
  const questions = h("div", { class: "questions" }, h("p", {}, "Loading the questions…"));
  const badges = h("p", { class: "badges", "aria-live": "polite" });
  const form = h("form", { novalidate: true, id: "quiz" }, questions,
    h("button", { type: "submit", class: "primary" }, "Submit the quiz"));
  const section = h("section", { class: "card", "aria-labelledby": "quiz-title" },
    h("h2", { id: "quiz-title" }, "Quiz"),
    h("p", { class: "hint" }, "Six questions, 1 to 5. Your answers shape who you are shown and how well you match."),
    message.el, badges, form);
  let asked: Question[] = [];

  const showBadges = (list: string[]): void => {
    badges.textContent = list.length ? `Your badges: ${list.join(", ")}` : state.me.quiz ? "Quiz done." : "";
  };
  const render = (): void => {
    replace(questions, ...asked.map((q, index) => {
      const current = state.me.quiz?.[q.trait];
      return h("fieldset", { class: "question" },
        h("legend", {}, `${index + 1}. ${q.question}`),
        h("div", { class: "scale" }, ...[1, 2, 3, 4, 5].map((value) => h("label", { class: "choice" },
          h("input", { type: "radio", name: q.trait, value, checked: current === value, required: true }),
          h("span", {}, `${value}`), h("small", {}, q.labels[String(value)] ?? "")))));
    }));
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.clear();
    const answers: Record<string, number> = {};
    for (const q of asked) {
      const checked = form.querySelector<HTMLInputElement>(`input[name="${q.trait}"]:checked`);
      if (checked) answers[q.trait] = Number(checked.value);
    }
    if (Object.keys(answers).length < asked.length) {
      message.error("Please answer all six questions.");
      return;
    }
    void busy(form, async () => {
      try {
        const reply = await state.client.call("quiz.submit", { answers });
        showBadges(reply.badges);
        await state.loadMe();
        message.ok("Quiz saved.");
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  void state.client.call("quiz.questions").then((reply) => {
    asked = reply.questions;
    render();
  }, (error: unknown) => message.error(explain(error)));
  showBadges(state.me.badges);
  return section;
}
