// Notes on figures (DESIGN.md §8): a figure with a note is shown by the note, apart from its
// value (NO_DATA: never reported, not the same as 0). Unknown kinds are shown by name.
const LABELS = { NO_DATA: "无数据" };

export function noteOn(stats, path) {
  const notes = stats?.notes;
  if (!Array.isArray(notes)) return null;
  const found = notes.find((note) => note.path === path);
  return found ? { kind: found.kind, label: LABELS[found.kind] ?? found.kind } : null;
}
