#!/usr/bin/env bash
# The official Bicep compiler for infra/: `check` builds infra/main.bicep to ARM JSON and lints it,
# failing on any error or warning (compiler diagnostics and the linter's default rules alike);
# `build --stdout` prints the ARM JSON (test/infra reads it); `path` prints the compiler it uses.
#
# Which compiler, first match wins:
#   1. $BICEP: a bicep executable you already have;
#   2. the machine's dotnet: restores the self-contained CLI from the NuGet package
#      Azure.Bicep.CommandLine.<rid> (pinned below) into .local/bicep/ (git-ignored), once;
#   3. the Azure CLI: `az bicep build` / `az bicep lint` (az installs its own bicep on first use).
# https://learn.microsoft.com/azure/azure-resource-manager/bicep/install
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

BICEP_VERSION="${BICEP_VERSION:-0.49.2}"
entry="infra/main.bicep"
cache="$root/.local/bicep"

rid() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=osx ;;
    *) echo "bicep.sh: no Bicep CLI package for $(uname -s); set BICEP or use the Azure CLI" >&2; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "bicep.sh: no Bicep CLI package for $(uname -m); set BICEP or use the Azure CLI" >&2; return 1 ;;
  esac
  echo "$os-$arch"
}

# Prints the path of a bicep executable restored from NuGet, restoring it on first use. A throwaway
# project with a PackageDownload item is the supported way to fetch a package without referencing
# it: https://learn.microsoft.com/nuget/consume-packages/packagedownload-functionality
restored_bicep() {
  local id package_dir exe project_dir
  id="Azure.Bicep.CommandLine.$(rid)"
  package_dir="$cache/packages/$(echo "$id" | tr '[:upper:]' '[:lower:]')/$BICEP_VERSION"
  exe="$package_dir/tools/bicep"
  if [ ! -x "$exe" ]; then
    project_dir="$cache/restore"
    mkdir -p "$project_dir"
    cat >"$project_dir/bicep.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net$(dotnet --version | cut -d. -f1).0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$id" Version="[$BICEP_VERSION]" />
  </ItemGroup>
</Project>
XML
    echo "bicep.sh: restoring $id $BICEP_VERSION into .local/bicep/" >&2
    dotnet restore "$project_dir/bicep.csproj" --packages "$cache/packages" --nologo -v quiet >&2
    # NuGet does not always keep the executable bit of files in a package.
    chmod +x "$exe"
  fi
  echo "$exe"
}

# Sets the command arrays `build_cmd` / `lint_cmd` (the input file is appended by the caller).
choose_compiler() {
  if [ -n "${BICEP:-}" ]; then
    build_cmd=("$BICEP" build)
    lint_cmd=("$BICEP" lint)
  elif command -v dotnet >/dev/null 2>&1; then
    local exe
    exe="$(restored_bicep)"
    build_cmd=("$exe" build)
    lint_cmd=("$exe" lint)
  elif command -v az >/dev/null 2>&1; then
    build_cmd=(az bicep build --file)
    lint_cmd=(az bicep lint --file)
  else
    echo "bicep.sh: no Bicep compiler: install the .NET SDK (dotnet) or the Azure CLI (az), or set BICEP" >&2
    return 1
  fi
}

# Diagnostics look like `path(line,col) : Warning rule-name: message [link]`.
diagnostics() { grep -E '\) : (Error|Warning) ' "$1" || true; }

check() {
  local out="$cache/main.json" log_build log_lint found status=0
  mkdir -p "$cache"
  log_build="$(mktemp)"
  log_lint="$(mktemp)"
  trap 'rm -f "$log_build" "$log_lint"' RETURN
  echo "bicep: build $entry" >&2
  "${build_cmd[@]}" "$entry" --outfile "$out" 2>"$log_build" || status=$?
  cat "$log_build" >&2
  echo "bicep: lint $entry" >&2
  "${lint_cmd[@]}" "$entry" 2>"$log_lint" >>"$log_lint" || status=$?
  cat "$log_lint" >&2
  found="$( (diagnostics "$log_build"; diagnostics "$log_lint") | sort -u)"
  if [ -n "$found" ]; then
    echo "bicep: FAILED, $(echo "$found" | wc -l) diagnostic(s) (errors and warnings both fail)" >&2
    return 1
  fi
  if [ "$status" -ne 0 ]; then
    echo "bicep: FAILED, the compiler exited with $status" >&2
    return "$status"
  fi
  echo "bicep: ok ($entry -> ${out#"$root"/}, no errors, no warnings)" >&2
}

command="${1:-check}"
case "$command" in
  check)
    choose_compiler
    check
    ;;
  build)
    shift
    choose_compiler
    if [ "${1:-}" = "--stdout" ]; then
      "${build_cmd[@]}" "$entry" --stdout
    else
      mkdir -p "$cache"
      "${build_cmd[@]}" "$entry" --outfile "$cache/main.json"
      echo "${cache#"$root"/}/main.json"
    fi
    ;;
  path)
    choose_compiler
    echo "${build_cmd[0]}"
    ;;
  *)
    echo "usage: scripts/bicep.sh [check|build [--stdout]|path]" >&2
    exit 2
    ;;
esac
