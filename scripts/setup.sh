#!/usr/bin/env bash
# Brings a bare Debian 12 machine to what 链招 needs; quick and silent when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-venv: Debian's python3 cannot make a venv (no ensurepip) without it.
DEB_PACKAGES=(python3 python3-venv fonts-noto-cjk libharfbuzz-subset0 poppler-utils postgresql chromium)
missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> 安装系统软件包: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "!! 缺少系统软件包: ${missing[*]}"
    echo "!! 请以 root 身份安装: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    echo "!! 继续设置 Python 环境；缺少的部分（中文字体、PDF、PostgreSQL 或浏览器测试）将无法使用。"
  fi
fi

PY=${PYTHON:-python3}
# A venv whose creation failed half-way (no pip in it) is removed and made again.
if [ -x .venv/bin/python ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  echo "==> 虚拟环境 .venv 不完整，重新创建"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> 创建虚拟环境 .venv"
  "$PY" -m venv .venv
fi
# Reinstall only when the dependency list changed since the last successful install.
stamp=.venv/.lianzhao-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> 安装 Python 依赖"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  touch "$stamp"
fi
