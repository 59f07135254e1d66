// My profile: the checklist to appear in discovery, the profile form with location, then photos, prompts, quiz.

import type { UpdateIn, User } from "../../src/index.js";
import { h, field, messageArea, busy, replace } from "../dom.js";
import { explain } from "../errors.js";
import { live, type App, type Screen } from "../app.js";
import { photosSection } from "./photos.js";
import { promptsSection } from "./prompts.js";
import { quizSection } from "./quiz.js";

const GENDERS = [["woman", "Woman"], ["man", "Man"], ["nonbinary", "Non-binary"]] as const;

export function profileScreen(app: App): Screen {
  const state = live(app);
  const status = h("section", { class: "card status", "aria-live": "polite", id: "discoverable" });
  const renderStatus = (): void => {
    const me = state.me;
    const missing = [
      me.photos.length === 0 && "a photo",
      me.quiz === null && "the quiz",
      me.location === null && "your location",
      me.gender === null && "your gender",
    ].filter((x): x is string => typeof x === "string");
    status.dataset["discoverable"] = String(me.discoverable);
    replace(status, me.discoverable
      ? h("p", {}, "✓ You are visible in discovery.")
      : h("p", {}, `Not in discovery yet. Still missing: ${missing.length ? missing.join(", ") : "nothing we can see"}.`));
  };
  renderStatus();
  const off = state.on("me", renderStatus);
  const el = h("div", { class: "stack" },
    h("h1", {}, "Your profile"), status, profileForm(app), photosSection(app), promptsSection(app), quizSection(app));
  return { title: "Profile", el, dispose: off };
}

function numberInput(name: string, value: number, min: number, max: number): HTMLInputElement {
  return h("input", { type: "number", name, value, min, max, inputmode: "numeric", required: true });
}

function profileForm(app: App): HTMLElement {
  const state = live(app);
  const me = state.me;
  const name = h("input", { type: "text", name: "display_name", value: me.display_name, maxlength: 50 });
  const bio = h("textarea", { name: "bio", rows: 3, maxlength: 500 });
  bio.value = me.bio;
  const gender = h("select", { name: "gender" }, h("option", { value: "" }, "—"),
    ...GENDERS.map(([value, label]) => h("option", { value, selected: me.gender === value }, label)));
  const interested = GENDERS.map(([value, label]) => {
    const box = h("input", { type: "checkbox", name: "interested_in", value, checked: me.interested_in.includes(value) });
    return h("label", { class: "check" }, box, ` ${label}`);
  });
  const ageMin = numberInput("age_min", me.age_min, 18, 120);
  const ageMax = numberInput("age_max", me.age_max, 18, 120);
  const distance = numberInput("max_distance_km", me.max_distance_km, 1, 20000);
  const lat = h("input", { type: "text", name: "lat", inputmode: "decimal", value: me.location?.lat ?? "" });
  const lon = h("input", { type: "text", name: "lon", inputmode: "decimal", value: me.location?.lon ?? "" });
  const message = messageArea();
  const locate = h("button", { type: "button", class: "secondary" }, "Use my location");
  locate.addEventListener("click", () => {
    if (!("geolocation" in navigator)) {
      message.error("This browser cannot tell your location: type it in.");
      return;
    }
    navigator.geolocation.getCurrentPosition((pos) => {
      lat.value = pos.coords.latitude.toFixed(4);
      lon.value = pos.coords.longitude.toFixed(4);
      message.ok("Location filled in: save to use it (only a ~1 km area is stored).");
    }, () => message.error("The browser did not give a location: type it in."), { timeout: 10000 });
  });
  const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "profile-title" },
    h("h2", { id: "profile-title" }, "About you"),
    message.el,
    field("Name", name), field("Bio", bio),
    field("Gender", gender),
    h("fieldset", {}, h("legend", {}, "Interested in"), ...interested),
    h("div", { class: "row" }, field("Youngest age", ageMin), field("Oldest age", ageMax)),
    field("Distance (km)", distance),
    h("fieldset", {}, h("legend", {}, "Location"),
      h("p", { class: "hint" }, "Only the centre of a ~1 km area is stored; others see distances in whole km."),
      h("div", { class: "row" }, field("Latitude", lat), field("Longitude", lon)), locate),
    h("button", { type: "submit", class: "primary" }, "Save profile"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    message.clear();
    const update: UpdateIn = {
      display_name: name.value.trim(), bio: bio.value, gender: gender.value || null,
      interested_in: interested.map((l) => l.querySelector("input") as HTMLInputElement).filter((b) => b.checked)
        .map((b) => b.value),
      age_min: Number(ageMin.value), age_max: Number(ageMax.value), max_distance_km: Number(distance.value),
    };
    const location = readLocation(lat.value, lon.value, state.me);
    if (location === "invalid") {
      message.error("Latitude is -90 to 90 and longitude -180 to 180, as decimal numbers (52.52).");
      return;
    }
    if (location !== null) update.location = location;
    void busy(form, async () => {
      try {
        const reply = await state.client.call("me.update", update);
        state.setMe(reply.user);
        if (reply.user.location) {
          lat.value = String(reply.user.location.lat);
          lon.value = String(reply.user.location.lon);
        }
        message.ok("Saved.");
      } catch (error) {
        message.error(explain(error));
      }
    });
  });
  return form;
}

function readLocation(latText: string, lonText: string, me: User): { lat: number; lon: number } | null | "invalid" {
  if (latText.trim() === "" && lonText.trim() === "") return null;
  const lat = Number(latText.replace(",", "."));
  const lon = Number(lonText.replace(",", "."));
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return "invalid";
  if (me.location !== null && me.location.lat === lat && me.location.lon === lon) return null; // unchanged
  return { lat, lon };
}
