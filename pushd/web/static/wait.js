// The live wait: long-polls the page's status URL and follows the answer.
// Without JavaScript the page's "Check again" button does the same.

const box = document.querySelector("[data-status-url]");
const POLL_SECONDS = 25;
const stop = new AbortController();

// Once the person submits a form (another method, cancel, check again) or leaves, the
// wait must not navigate anywhere on its own.
const leave = () => stop.abort();
addEventListener("submit", leave, true);
addEventListener("pagehide", leave);

function show(state) {
  for (const part of box.querySelectorAll("[data-when]")) {
    part.hidden = part.dataset.when !== state;
  }
}

function say(text) {
  const line = box.querySelector("[data-status-text]");
  if (line) line.textContent = text;
}

async function poll() {
  let seen = box.dataset.state;
  let failures = 0;
  while (!stop.signal.aborted) {
    const url = new URL(box.dataset.statusUrl, location.href);
    url.searchParams.set("wait", String(POLL_SECONDS));
    if (seen) url.searchParams.set("seen", seen);
    let answer;
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        cache: "no-store",
        credentials: "same-origin",
        signal: stop.signal,
      });
      answer = await response.json();
    } catch {
      if (stop.signal.aborted) return;
      failures += 1;
      if (failures > 4) {
        say("Lost contact with the server. Use “Check again”.");
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 * failures));
      continue;
    }
    failures = 0;
    if (stop.signal.aborted) return;
    const next = answer.next || (answer.error && answer.error.next);
    if (next) {
      location.assign(next);
      return;
    }
    if (answer.error) {
      say(answer.error.message);
      return;
    }
    if (answer.state && answer.state !== seen) {
      seen = answer.state;
      box.dataset.state = seen;
      show(seen);
    }
  }
}

if (box) poll();
