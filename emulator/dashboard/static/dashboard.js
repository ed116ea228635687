// Keeps the dashboard live: every element with data-live is refreshed from
// its server-rendered fragment, and the preset table is filtered as you type.
// Fragments come escaped from the server; this script never builds HTML.
"use strict";

const REFRESH_MS = 1000;

async function refresh(element) {
  try {
    const response = await fetch(element.dataset.live, {
      credentials: "same-origin",
      cache: "no-store",
    });
    if (response.status === 401) {
      element.dataset.stale = "sign in again";
      return;
    }
    if (!response.ok) {
      return;
    }
    const html = await response.text();
    if (html !== element.dataset.shown) {
      element.innerHTML = html;
      element.dataset.shown = html;
    }
    delete element.dataset.stale;
  } catch (error) {
    element.dataset.stale = "emulator unreachable";
  }
}

function keepLive() {
  const live = Array.from(document.querySelectorAll("[data-live]"));
  if (live.length === 0) {
    return;
  }
  let busy = false;
  setInterval(async () => {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    await Promise.all(live.map(refresh));
    busy = false;
  }, REFRESH_MS);
}

function filterPresets() {
  const input = document.querySelector("input[data-filter]");
  if (!input) {
    return;
  }
  const table = document.getElementById(input.dataset.filter);
  const count = document.getElementById("preset-count");
  const total = count ? count.textContent.split(" of ")[1] : "";
  const apply = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const row of table.tBodies[0].rows) {
      const text = row.dataset.search || "";
      const match = words.every((word) => text.includes(word));
      row.hidden = !match;
      shown += match ? 1 : 0;
    }
    if (count) {
      count.textContent = `${shown} of ${total}`;
    }
  };
  input.addEventListener("input", apply);
}

document.addEventListener("DOMContentLoaded", () => {
  keepLive();
  filterPresets();
});
