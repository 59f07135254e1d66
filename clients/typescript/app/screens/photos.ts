// Photos: list, upload (REST multipart) and delete; at most 6.

import { h, messageArea, busy, replace, photo } from "../dom.js";
import { explain } from "../errors.js";
import { live, track, type App } from "../app.js";

export function photosSection(app: App): HTMLElement {
  const state = live(app);
  const list = h("ul", { class: "photos", "aria-label": "Your photos" });
  const message = messageArea();
  const file = h("input", { type: "file", name: "file", accept: "image/jpeg,image/png,image/webp", id: "photo-file" });
  const section = h("section", { class: "card", "aria-labelledby": "photos-title" },
    h("h2", { id: "photos-title" }, "Photos"),
    h("p", { class: "hint" }, "Up to 6 JPEG, PNG or WebP photos (10 MB each). Location data in them is removed."),
    message.el, list,
    h("div", { class: "field" }, h("label", { for: "photo-file" }, "Add a photo"), file));

  const render = (): void => {
    const photos = state.me.photos;
    replace(list, ...photos.map((p, i) => h("li", {},
      photo(p.thumb_url, `Photo ${i + 1}`, "thumb"),
      h("button", { type: "button", class: "secondary small", "aria-label": `Delete photo ${i + 1}`,
        onclick: () => void remove(p.id) }, "Delete"))));
    if (photos.length === 0) list.append(h("li", { class: "empty" }, "No photos yet."));
  };
  const reload = async (): Promise<void> => {
    const reply = await app.session.withToken((token) => app.rest.listPhotos(token));
    state.setMe({ ...state.me, photos: reply.photos });
    void state.loadMe().catch(() => undefined); // discoverable may have changed
  };
  const remove = (id: string): Promise<void> => busy(section, async () => {
    message.clear();
    try {
      await app.session.withToken((token) => app.rest.deletePhoto(id, token));
      await reload();
    } catch (error) {
      message.error(explain(error));
    }
  });
  file.addEventListener("change", () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    message.clear();
    void busy(section, async () => {
      try {
        await app.session.withToken((token) => app.rest.uploadPhoto(chosen, chosen.name, token));
        await reload();
        message.ok("Photo added.");
      } catch (error) {
        message.error(explain(error));
      } finally {
        file.value = "";
      }
    });
  });
  render();
  track(state.on("me", render));
  return section;
}
