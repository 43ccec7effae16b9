// The talk strip: each measure's button plays the lesson from its moment.
const strip = document.getElementById("talk-strip");
const video = document.getElementById("lesson-video");
if (strip && video) {
  strip.addEventListener("click", (event) => {
    const button = event.target.closest("[data-seek-ms]");
    if (!button) return;
    video.currentTime = Number(button.dataset.seekMs) / 1000;
    video.play().catch(() => {});
  });
}
