// dirty.ts: which forms hold changes not yet saved, so that leaving the page or closing the tab
// asks first (issue 13 item 5: unsaved changes are not lost silently).
const dirty = new Set<string>();

export function setDirty(key: string, on: boolean) {
  if (on) dirty.add(key);
  else dirty.delete(key);
}

export function anyDirty(): boolean {
  return dirty.size > 0;
}

export function clearDirty() {
  dirty.clear();
}
