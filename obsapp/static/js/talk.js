// The talk strip (obsapp/talk, rendered with the lesson page): each measure's button plays the lesson from its
// moment. Set up by pages/lesson.js.
export function setupTalkStrip(video) {
  const strip = document.getElementById("talk-strip");
  if (!strip || !video) return;
  strip.addEventListener("click", (event) => {
    const button = event.target.closest("[data-seek-ms]");
    if (!button) return;
    video.currentTime = Number(button.dataset.seekMs) / 1000;
    video.play().catch(() => {});
  });
}
