// Seed "Network Profiles", second example, verbatim; the page's first
// example has the two lines it builds on (import, client).
import { Isorun } from 'isorun'

const isorun = new Isorun()

// Locked-down, sandbox can't reach anything outside the runner.
const a = await isorun.create({ image: 'python:3.12-slim', networkProfile: 'locked-down' })
try {
  const r = await a.exec('curl -m 2 https://example.com')
  console.log(r.exitCode !== 0) // true, blocked
} finally { await a.destroy() }

// claude-code profile, agent can reach Anthropic + package registries.
const b = await isorun.create({ image: 'python:3.12-slim', networkProfile: 'claude-code' })
try {
  await b.exec('pip install anthropic')                                    // works
  const r = await b.exec('curl -m 2 https://random-site.com')
  console.log(r.exitCode !== 0)                                            // true
} finally { await b.destroy() }
