// ixchange portal: live tables (server-sent events), the grade as you type, quote
// countdowns and confirmations. Loaded as a file: the Content-Security-Policy allows
// no inline script.
"use strict";

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// Tables marked data-live="URL" are re-read from URL whenever an event about this
// participant arrives; the page never reloads.
function startLive() {
  const targets = document.querySelectorAll("[data-live]");
  if (!targets.length || !window.EventSource) return;
  const state = document.querySelector("[data-live-state]");
  const refresh = debounce(() => {
    targets.forEach(async (el) => {
      const reply = await fetch(el.dataset.live, { credentials: "same-origin" });
      if (reply.ok) el.innerHTML = await reply.text();
      else if (reply.status === 403 || reply.redirected) window.location.reload();
    });
  }, 150);
  const source = new EventSource("/events");
  source.onopen = () => { if (state) { state.textContent = "live"; state.classList.remove("off"); } };
  source.onmessage = refresh;
  source.addEventListener("reload", refresh);
  source.addEventListener("ended", () => { source.close(); window.location.reload(); });
  source.onerror = () => { if (state) { state.textContent = "reconnecting"; state.classList.add("off"); } };
}

// Forms marked data-classify="URL" show the grade their parameter values would get.
function startClassify() {
  const form = document.querySelector("form[data-classify]");
  const out = document.getElementById("grade-preview");
  if (!form || !out) return;
  const ask = debounce(async () => {
    const query = new URLSearchParams();
    query.set("service", form.elements.service.value);
    for (const el of form.elements) {
      if (el.name && el.name.startsWith("value.") && el.value.trim() !== "") query.set(el.name, el.value.trim());
    }
    const reply = await fetch(form.dataset.classify + "?" + query.toString(), { credentials: "same-origin" });
    if (!reply.ok) return;
    const verdict = await reply.json();
    out.textContent = verdict.grade || "—";
    out.title = verdict.explanation || "";
  }, 250);
  form.addEventListener("input", (event) => { if (event.target.name && event.target.name.startsWith("value.")) ask(); });
  ask();
}

// <output data-expires="epoch ms">: counts down; buttons marked data-expiring stop at 0.
function startCountdowns() {
  const clocks = document.querySelectorAll("[data-expires]");
  if (!clocks.length) return;
  const tick = () => {
    clocks.forEach((el) => {
      const left = Math.round((Number(el.dataset.expires) - Date.now()) / 1000);
      el.textContent = left > 0 ? `${left} s left` : "expired: get a new quote";
      if (left <= 0) document.querySelectorAll("[data-expiring]").forEach((b) => { b.disabled = true; });
    });
  };
  tick();
  setInterval(tick, 1000);
}

function startConfirmations() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => { if (!window.confirm(form.dataset.confirm)) event.preventDefault(); });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  startLive();
  startClassify();
  startCountdowns();
  startConfirmations();
});
