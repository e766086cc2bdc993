#!/usr/bin/env bash
# Builds a C++ program with about 300 MB of DWARF 5 (.debug_info) for the symbolization benchmark:
# three heavy translation units (std::regex, maps, streams, lambdas: much inlining), compiled once
# at -O2 -g, then linked 100 times each under different names, so the program holds 300
# compilation units without 300 compilations.
#
#   bench/symbolize/build-large-binary.sh [OUT_DIR]      (default: a new directory under /tmp)
#
# Prints the path of the program. Needs g++ and objcopy; takes about a minute of CPU.
set -euo pipefail
out="${1:-$(mktemp -d /tmp/memprof-large-binary.XXXXXX)}"
mkdir -p "$out/objs"
cd "$out"
copies=100
variants=3

for v in $(seq 0 $((variants - 1))); do
    cat >"tu$v.cpp" <<EOF
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>
namespace ns$v {
template <typename T> struct Box { T value; std::vector<T> history; void push(T v) { history.push_back(value); value = v; } };
struct Key { int a; std::string b; bool operator<(const Key& o) const { return a < o.a || (a == o.a && b < o.b); } };
struct Hash { size_t operator()(const std::string& s) const { return std::hash<std::string>()(s) ^ $v; } };
}
__attribute__((noinline)) long work$v(int n) {
    std::map<ns$v::Key, std::vector<std::string>> m;
    std::unordered_map<std::string, int, ns$v::Hash> u;
    std::set<long> s; std::deque<double> d;
    ns$v::Box<std::string> box;
    std::regex re("([a-z]+)([0-9]*)$v");
    for (int k = 0; k < n; k++) {
        std::ostringstream os; os << "key" << k << $v;
        m[ns$v::Key{k % 7, os.str()}].push_back(os.str());
        u[os.str()] += k; s.insert(k * $v); d.push_front(k * 0.5);
        box.push(os.str());
        if (std::regex_match(os.str(), re)) s.insert(-k);
    }
    std::vector<std::pair<std::string, int>> v(u.begin(), u.end());
    std::sort(v.begin(), v.end(), [](auto& x, auto& y) { return x.second < y.second; });
    std::function<long(long)> f = [&](long x) { return x + (long)m.size() + (long)d.size(); };
    return f((long)v.size() + (long)s.size() + (long)box.history.size());
}
EOF
    g++ -O2 -g -c "tu$v.cpp" -o "tu$v.o" &
done
wait

{
    echo "#include <cstdio>"
    for k in $(seq 0 $((copies * variants - 1))); do echo "long work$k(int);"; done
    echo "int main(int argc, char **) { long t = 0;"
    for k in $(seq 0 $((copies * variants - 1))); do echo "  t += work$k(argc);"; done
    echo '  std::printf("%ld\n", t); return 0; }'
} >main.cpp

# Each copy's work function gets its own name (the mangled _Z5work0i becomes _Z7work123i);
# the template instantiations they share are folded by the linker, their DWARF stays.
for k in $(seq 0 $((copies * variants - 1))); do
    name="work$k"
    objcopy --redefine-sym "_Z5work$((k % variants))i=_Z${#name}${name}i" "tu$((k % variants)).o" "objs/copy$k.o"
done
g++ -O2 -g -o large main.cpp objs/*.o
rm -rf objs
echo "$out/large"
