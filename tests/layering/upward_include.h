// A fixture of tests/layering (never compiled): a header of the bottom layer that includes the
// engine layer, which the layering check must reject.
#pragma once
#include "model/core/error.h"
#include "sim/engine.h"
