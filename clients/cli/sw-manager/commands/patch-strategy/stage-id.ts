/** `--stage-id N`: a non-negative integer. */
export function parseStageId(v: string | boolean | string[] | undefined): { stageId?: number; error?: string } {
  if (v === undefined) return {};
  if (typeof v !== "string" || !/^\d+$/.test(v)) return { error: `argument --stage-id: invalid value: '${String(v)}'` };
  return { stageId: Number(v) };
}
