// Seed "Network Filtering", section "Block specific hosts", verbatim; the
// page's first example has the two lines it builds on (import, client).
import { Isorun } from 'isorun'
const isorun = new Isorun()

const sandbox = await isorun.create({
image: 'python:3.12-slim',
network: { deny: ['169.254.169.254', 'metadata.google.internal'] },
})
try {
await sandbox.exec('curl https://example.com') // works
const r = await sandbox.exec('curl -m 2 http://169.254.169.254/')
console.log(r.exitCode !== 0) // true
} finally {
await sandbox.destroy()
}
