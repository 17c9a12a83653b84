// A dispatcher: several producers send different kinds of messages over ONE channel of
// std::variant, and one reader thread routes each message to the handler for its type.
//
//   sensor threads --temperature--+
//   logger thread  ----log_line---+--> channel<message> --> dispatcher --> on_temperature()
//   main           ----command----+                                   --> on_log()
//                                                                     --> on_command()
//
// One channel keeps the relative order of all messages (FIFO in publish order) and gives
// the dispatcher a single place to wait: the role `select` over several channels plays in Go.
//
// Usage: example_dispatcher [messages_per_producer]     (default 100)
#include "check.hpp"

#include <polychan/channel.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <variant>
#include <vector>

struct temperature {
    int sensor;
    double celsius;
};
struct log_line {
    std::string text;
};
struct command {
    std::string name;
};
using message = std::variant<temperature, log_line, command>;

// The per-type handlers, gathered in one overload set for std::visit.
template <class... Handlers>
struct overloaded : Handlers... {
    using Handlers::operator()...;
};

int main(int argc, char** argv) {
    int const per_producer = argc > 1 ? std::atoi(argv[1]) : 100;
    int const sensors = 2;

    polychan::channel<message> inbox{32};

    int temperatures = 0, logs = 0, commands = 0;
    std::vector<double> last_celsius(sensors, -1.0);
    std::jthread dispatcher{[&] {
        auto const route = overloaded{
            [&](temperature const& t) {
                // per sensor, readings arrive in the order that sensor sent them
                double& last = last_celsius[static_cast<std::size_t>(t.sensor)];
                expect(t.celsius > last, "one producer's messages stay in order");
                last = t.celsius;
                ++temperatures;
            },
            [&](log_line const& l) {
                if (logs++ < 2) std::printf("log: %s\n", l.text.c_str());
            },
            [&](command const& c) {
                std::printf("command: %s\n", c.name.c_str());
                ++commands;
            },
        };
        for (message const& m : inbox) std::visit(route, m); // until closed and drained
    }};

    {
        std::vector<std::jthread> producers;
        for (int s = 0; s < sensors; ++s)
            producers.emplace_back([&, s] {
                for (int i = 0; i < per_producer; ++i) inbox.write(temperature{s, static_cast<double>(i)});
            });
        producers.emplace_back([&] {
            for (int i = 0; i < per_producer; ++i) inbox.write(log_line{"line " + std::to_string(i)});
        });
        inbox.write(command{"report"});
    } // producers join here
    inbox.close();
    dispatcher.join();

    std::printf("dispatched %d temperatures, %d log lines, %d commands\n", temperatures, logs, commands);
    expect(temperatures == sensors * per_producer, "every temperature reached its handler");
    expect(logs == per_producer, "every log line reached its handler");
    expect(commands == 1, "the command reached its handler");
    std::printf("dispatcher: ok\n");
}
