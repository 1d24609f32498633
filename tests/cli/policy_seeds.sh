# The seeds' examples through `isorun policy check`, as their comments say.
# shellcheck source=tests/cli/lib.sub
. "$(dirname "$0")/lib.sub"

ONLY="--deny 0.0.0.0/0 --allow api.openai.com --allow pypi.org"
# shellcheck disable=SC2086
{
verdict "allow-only: pypi.org permitted" pypi.org permitted pypi.org $ONLY
verdict "allow-only: api.openai.com permitted" api.openai.com permitted \
    api.openai.com $ONLY
verdict "allow-only: api.openai.com@addr:443 permitted" \
    api.openai.com@104.18.7.192:443 permitted api.openai.com $ONLY
verdict "allow-only: example.com blocked" example.com blocked default $ONLY
verdict "allow-only: example.com@addr:443 blocked" \
    example.com@93.184.215.14:443 blocked default $ONLY
verdict "allow-only: catch-all blocks IPv6 too" 2606:2800:21f:cb07::1 \
    blocked default $ONLY
verdict "allow-only: [IPv6]:443 blocked" "[2606:2800:21f:cb07::1]:443" \
    blocked default $ONLY
}

META="--deny 169.254.169.254 --deny metadata.google.internal"
# shellcheck disable=SC2086
{
verdict "deny-list: example.com permitted" example.com permitted default \
    $META
verdict "deny-list: 169.254.169.254 blocked by its rule" 169.254.169.254:80 \
    blocked 169.254.169.254 $META
verdict "deny-list: metadata.google.internal blocked" \
    metadata.google.internal blocked metadata.google.internal $META
verdict "deny-list: the name at any address blocked" \
    metadata.google.internal@8.8.8.8:80 blocked metadata.google.internal \
    $META
}

verdict "wildcard: api.openai.com" api.openai.com permitted '*.openai.com' \
    --allow '*.openai.com'
verdict "wildcard: cdn.openai.com" cdn.openai.com permitted '*.openai.com' \
    --allow '*.openai.com'
verdict "wildcard: not the apex" openai.com blocked default \
    --allow '*.openai.com'
verdict "deny first: deny inside an allowed wildcard" api.openai.com blocked \
    api.openai.com --allow '*.openai.com' --deny api.openai.com

verdict "locked-down blocks example.com" example.com blocked default \
    --profile locked-down
verdict "locked-down blocks an address" 93.184.215.14:443 blocked - \
    --profile locked-down
verdict "claude-code permits pypi.org" pypi.org permitted pypi.org \
    --profile claude-code
verdict "claude-code permits files.pythonhosted.org" files.pythonhosted.org \
    permitted files.pythonhosted.org --profile claude-code
verdict "claude-code permits api.anthropic.com" api.anthropic.com \
    permitted api.anthropic.com --network-profile claude-code
verdict "claude-code blocks random-site.com" random-site.com blocked default \
    --profile claude-code
verdict "openai blocks api.anthropic.com" api.anthropic.com blocked default \
    --profile openai
verdict "no policy means unrestricted" example.com permitted default
