// Small enhancements for every page; nothing here is needed for a form to work.

for (const button of document.querySelectorAll("[data-copy]")) {
  const source = document.querySelector(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  if (!source || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const lines = [...source.querySelectorAll("code")].map((code) => code.textContent.trim());
    try {
      await navigator.clipboard.writeText(lines.join("\n") + "\n");
      if (status) status.textContent = "Copied to the clipboard.";
    } catch {
      if (status) status.textContent = "Copying is not allowed here: select the codes instead.";
    }
  });
}

for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
