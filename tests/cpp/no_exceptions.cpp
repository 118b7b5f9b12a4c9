// zoo.hpp built with -fno-exceptions: the std::error_code overloads.
#include <cstdio>
#include <system_error>
#include <vector>

#include "zoo.hpp"

int main() {
    std::error_code ec;
    zoo::model bad = zoo::model::mlp({1, 4, 1}, "nope", 0, ec);
    if (ec != zoo::make_error_code(ZOO_INVALID_OPTION) || bad) return 1;
    zoo::model m = zoo::model::mlp({1, 4, 1}, "tanh", 0, ec);
    if (ec || !m) return 1;
    zoo::trainer t(m, zoo::options().q(2).seed(1), ec);
    if (ec) return 1;
    const std::vector<double> x = {0.5, -0.5};
    auto loss = [&](zoo::candidate &c) {
        std::vector<double> y(2);
        std::error_code fec;
        if (!c.forward(x, y, fec)) return 1e300;
        return y[0] * y[0] + y[1] * y[1];
    };
    t.step(loss, ec);
    if (ec) return 1;
    t.step(loss, zoo::threadsafe, ec);
    if (ec || t.iteration() != 2) return 1;
    zoo::trainer u(m, zoo::options().set("nope", 1), ec);
    if (ec != zoo::make_error_code(ZOO_UNKNOWN_OPTION) || u) return 1;
    if (zoo::last_error().find("nope") == std::string::npos) return 1;
    std::printf("no-exceptions: ok\n");
    return 0;
}
