import { formatDemoTable, runDemo } from './demo-runner.js';

/** `npm run demo`: exit 0 only when every genuine delivery was consumed and every attack refused. */
async function main(): Promise<number> {
  try {
    const report = await runDemo();
    const genuine = report.rows.filter((row) => row.kind === 'genuine');
    const attacks = report.rows.filter((row) => row.kind === 'attack');
    console.log(`\n${formatDemoTable(report)}\n`);
    console.log(
      `${genuine.filter((row) => row.ok).length}/${genuine.length} genuine deliveries consumed, ` +
        `${attacks.filter((row) => row.ok).length}/${attacks.length} attacks refused, ` +
        `${report.tokenRequests} token request(s). Run data: ${report.runDir}`,
    );
    console.log(report.ok ? 'demo: OK' : 'demo: FAILED');
    return report.ok ? 0 : 1;
  } catch (error) {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

process.exitCode = await main();
