// The Switchboard's free-slot FIFO, on its own.

#include "rcbroker/actors/slot_fifo.hpp"

#include <gtest/gtest.h>

using rcbroker::actors::slot_fifo;

TEST(SlotFifo, HandsOutSlotsLeastRecentlyFreedFirst) {
  slot_fifo slots;
  slots.add(1, 2);
  slots.add(2, 1);
  slots.add(1, 1);
  EXPECT_EQ(slots.count(), 4u);
  EXPECT_EQ(slots.take(), 1u);
  EXPECT_EQ(slots.take(), 1u);
  EXPECT_EQ(slots.take(), 2u);
  EXPECT_EQ(slots.take(), 1u);
  EXPECT_EQ(slots.count(), 0u);
}

TEST(SlotFifo, AHugeCapacityIsOneEntry) {
  slot_fifo slots;
  slots.add(7, 4'000'000'000ull);
  slots.add(7, 5);
  slots.add(8, 0); // nothing freed, nothing kept
  EXPECT_EQ(slots.runs(), 1u);
  EXPECT_EQ(slots.count(), 4'000'000'005ull);
  EXPECT_EQ(slots.count_of(7), 4'000'000'005ull);
  EXPECT_EQ(slots.count_of(8), 0u);
}

TEST(SlotFifo, RemovingAWorkerMergesItsNeighbours) {
  slot_fifo slots;
  slots.add(1, 1);
  slots.add(2, 3);
  slots.add(1, 2);
  slots.add(3, 1);
  slots.remove(2);
  EXPECT_EQ(slots.count(), 4u);
  EXPECT_EQ(slots.runs(), 2u) << "1's runs on either side of 2 are one now";
  EXPECT_EQ(slots.count_of(1), 3u);
  EXPECT_EQ(slots.take(), 1u);
  EXPECT_EQ(slots.take(), 1u);
  EXPECT_EQ(slots.take(), 1u);
  EXPECT_EQ(slots.take(), 3u);
}

TEST(SlotFifo, ClearForgetsEverySlot) {
  slot_fifo slots;
  slots.add(1, 5);
  slots.clear();
  EXPECT_EQ(slots.count(), 0u);
  EXPECT_EQ(slots.runs(), 0u);
  slots.add(2, 1);
  EXPECT_EQ(slots.take(), 2u);
}
