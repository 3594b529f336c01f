#include "modes/tcp_client/connection_control.h"

#include <gtest/gtest.h>

namespace sg::modes::tcp_client {
namespace {

using Cc = config::ConnectionControl;

serial::ModemLines lines(bool dsr, bool dcd) {
    serial::ModemLines l;
    l.dsr = dsr;
    l.dcd = dcd;
    return l;
}

TEST(ConnectionControl, StartupConnectsAtOnceAndStays) {
    ConnectionControl c(Cc::StartupNone);
    EXPECT_TRUE(c.start(std::nullopt));
    EXPECT_FALSE(c.needs_lines());
    EXPECT_FALSE(c.on_lines(lines(false, false)));
    EXPECT_TRUE(c.wants_connection());
}

TEST(ConnectionControl, AnyCharacterConnectsOnTheFirstByte) {
    for (auto mode : {Cc::AnyCharacterNone, Cc::AnyCharacterInactivity}) {
        ConnectionControl c(mode);
        EXPECT_FALSE(c.start(lines(true, true)));  // lines do not matter
        EXPECT_FALSE(c.on_lines(lines(true, true)));
        EXPECT_TRUE(c.on_serial_data());   // turned on by this byte
        EXPECT_FALSE(c.on_serial_data());  // already on
        EXPECT_TRUE(c.wants_connection());
    }
}

TEST(ConnectionControl, InactivityClosesUntilTheNextByte) {
    ConnectionControl c(Cc::AnyCharacterInactivity);
    c.start(std::nullopt);
    c.on_serial_data();
    EXPECT_TRUE(c.on_inactivity());
    EXPECT_FALSE(c.wants_connection());
    EXPECT_FALSE(c.on_inactivity());  // no change the second time
    EXPECT_TRUE(c.on_serial_data());
    EXPECT_TRUE(c.wants_connection());

    // The general rule (inactivity_time_ms with another control): the same.
    ConnectionControl s(Cc::StartupNone);
    s.start(std::nullopt);
    EXPECT_TRUE(s.on_inactivity());
    EXPECT_FALSE(s.wants_connection());
    EXPECT_TRUE(s.on_serial_data());
}

TEST(ConnectionControl, DsrOnDsrOffFollowsTheLine) {
    ConnectionControl c(Cc::DsrOnDsrOff);
    EXPECT_TRUE(c.needs_lines());
    EXPECT_FALSE(c.start(lines(false, true)));  // DCD is not the watched line
    EXPECT_FALSE(c.on_serial_data());
    EXPECT_TRUE(c.on_lines(lines(true, false)));
    EXPECT_TRUE(c.wants_connection());
    EXPECT_FALSE(c.on_lines(lines(true, true)));  // other lines: no change
    EXPECT_TRUE(c.on_lines(lines(false, true)));
    EXPECT_FALSE(c.wants_connection());
}

TEST(ConnectionControl, DsrOnAtStartConnects) {
    ConnectionControl c(Cc::DsrOnDsrOff);
    EXPECT_TRUE(c.start(lines(true, false)));
}

TEST(ConnectionControl, DsrOnNoneStaysAfterTheLineDrops) {
    ConnectionControl c(Cc::DsrOnNone);
    c.start(lines(false, false));
    EXPECT_TRUE(c.on_lines(lines(true, false)));
    EXPECT_FALSE(c.on_lines(lines(false, false)));
    EXPECT_TRUE(c.wants_connection());
}

TEST(ConnectionControl, DcdVariants) {
    ConnectionControl off(Cc::DcdOnDcdOff);
    off.start(lines(true, false));
    EXPECT_FALSE(off.wants_connection());  // DSR is not the watched line
    EXPECT_TRUE(off.on_lines(lines(false, true)));
    EXPECT_TRUE(off.on_lines(lines(false, false)));
    EXPECT_FALSE(off.wants_connection());

    ConnectionControl none(Cc::DcdOnNone);
    none.start(lines(false, true));
    EXPECT_TRUE(none.wants_connection());
    EXPECT_FALSE(none.on_lines(lines(false, false)));
    EXPECT_TRUE(none.wants_connection());
}

TEST(ConnectionControl, NoModemLinesNeverConnectsOnALine) {
    ConnectionControl c(Cc::DcdOnDcdOff);
    EXPECT_FALSE(c.start(std::nullopt));
    EXPECT_FALSE(c.on_serial_data());
    EXPECT_FALSE(c.wants_connection());
}

TEST(ConnectionControl, LineGoingOnWakesADormantConnection) {
    ConnectionControl c(Cc::DsrOnDsrOff);
    c.start(lines(true, false));
    EXPECT_TRUE(c.on_inactivity());
    EXPECT_TRUE(c.on_lines(lines(false, false)) == false);  // already off: no change
    EXPECT_TRUE(c.on_lines(lines(true, false)));            // on again: a fresh start
    EXPECT_TRUE(c.wants_connection());
}

}  // namespace
}  // namespace sg::modes::tcp_client
