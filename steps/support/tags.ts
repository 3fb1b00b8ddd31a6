// Tag helpers shared by the hooks and the runner. Tags look like `@clause:<id>`,
// `@device:blk`, `@requires:VIRTIO_F_EVENT_IDX`.

/** Values of the `@<prefix>:` tags, in order. */
export function tagValues(tags: readonly { name: string }[], prefix: string): string[] {
  return tags.filter((t) => t.name.startsWith(`@${prefix}:`)).map((t) => t.name.slice(prefix.length + 2));
}
