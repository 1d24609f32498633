// Seed "Network Filtering", section "Allow only what you trust", verbatim.
import { Isorun } from 'isorun'
const isorun = new Isorun()
const sandbox = await isorun.create({
image: 'python:3.12-slim',
network: {
deny: ['0.0.0.0/0'], // block everything
allow: ['api.openai.com', 'pypi.org'], // …except these
},
})
try {
await sandbox.exec('pip install openai') // works
const r = await sandbox.exec('curl -m 2 https://example.com')
console.log(r.exitCode !== 0) // true (blocked)
} finally {
await sandbox.destroy()
}
