export async function run(_args: string[]): Promise<number> {
  process.stderr.write('weft proxy: not built yet\n');
  return 1;
}
