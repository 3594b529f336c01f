// format_test.cpp: the CSV export's neutralisation of spreadsheet formulas (OWASP CSV injection;
// issue 14 item 11) and its quoting.
#include "events/format.h"

#include <gtest/gtest.h>

namespace sg::events {
namespace {

std::string account_cell(const std::string& account) {
    Event e;
    e.id = 1;
    e.type_key = "security.login_failed";
    e.account = account;
    const std::string line = to_csv_line(e);
    // id,time,type,category,severity,port,ACCOUNT,source,message
    std::size_t at = 0;
    for (int i = 0; i < 6; ++i) at = line.find(',', at) + 1;
    if (line[at] != '"') return line.substr(at, line.find(',', at) - at);
    std::string out;  // a quoted cell: up to the lone closing quote, "" unescaped
    for (std::size_t i = at + 1; i < line.size(); ++i) {
        if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"') {
            out += '"';
            ++i;
        } else if (line[i] == '"') {
            break;
        } else {
            out += line[i];
        }
    }
    return out;
}

TEST(Csv, EveryFormulaLeaderIsNeutralised) {
    for (const char* lead : {"=", "+", "-", "@", "\t=", "\r=", "\t", "\r"}) {
        const std::string name = std::string(lead) + "HYPERLINK(\"http://x\",\"y\")";
        EXPECT_EQ(account_cell(name), "'" + name) << "lead " << testing::PrintToString(lead);
    }
}

TEST(Csv, PlainTextIsLeftAlone) {
    EXPECT_EQ(account_cell("admin"), "admin");
    EXPECT_EQ(account_cell("a=b"), "a=b");
    EXPECT_EQ(account_cell(" =x"), " =x");  // a leading space is not a formula
    EXPECT_EQ(account_cell(""), "");
}

TEST(Csv, SeparatorsAreQuoted) {
    EXPECT_EQ(account_cell("a,b"), "a,b");
    EXPECT_EQ(account_cell("say \"hi\""), "say \"hi\"");
    Event e;
    e.account = "\r=1";
    const std::string line = to_csv_line(e);
    EXPECT_NE(line.find("\"'\r=1\""), std::string::npos) << line;  // CR inside quotes
}

}  // namespace
}  // namespace sg::events
