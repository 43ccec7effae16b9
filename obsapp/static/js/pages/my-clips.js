// "My clips and reels": every clip I made, from any lesson, to join into one reel.
import { ClipList } from "../lesson-clips.js";

const root = document.getElementById("my-clips");
export const clips = root ? new ClipList({ root }) : null;
