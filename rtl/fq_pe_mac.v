// Baseline multiply-accumulate PE: INT8 activation x WBITS-bit weight (8, 4, 3 or 2), one beat
// per cycle. WSETS weight register sets as in the temporal PE; `in_tile` marks PEs inside the
// preloaded k x n tile (the others hold 0 and count as idle). Datapath registers have no reset.
`default_nettype none

module fq_pe_mac #(
    parameter ACC_W = 32,
    parameter WBITS = 8,
    parameter WSETS = 2,                                 // weight register sets
    parameter TW    = (WSETS > 2) ? $clog2(WSETS) : 1   // bits of a set tag
) (
    input  wire             clk,
    input  wire             beat_start,  // 1 in every cycle of a MAC array (W = 1)
    input  wire [2:0]       phase,       // 0 in every cycle of a MAC array: it multiplies in phase 0
    input  wire [7:0]       in_act,
    input  wire             in_valid,
    input  wire [TW-1:0]    in_tag,
    input  wire [ACC_W-1:0] in_psum,
    input  wire             w_clear,
    input  wire             w_en,
    input  wire [TW-1:0]    w_tag,
    input  wire [WBITS-1:0] w_q,
    output reg  [7:0]       act,
    output reg              valid,
    output reg  [TW-1:0]    tag,   // weight set of the data
    output reg  [ACC_W-1:0] psum,
    output wire             valid_now,   // the data in this PE in this cycle is valid
    output wire [TW-1:0]    tag_now,     // and uses this weight set
    output wire [ACC_W-1:0] psum_next,
    output wire             pulse,       // a product inside the tile in this cycle
    // register write enables (the cost model charges each: docs/energy.md "Register writes")
    output wire             psum_we,     // psum
    output wire             opnd_we,     // act and tag
    output wire             valid_we,    // valid
    output wire             w_we         // the weight set w_tag
);
  reg [WBITS*WSETS-1:0] qs;  // set s: bits WBITS*s+WBITS-1:WBITS*s
  reg [WSETS-1:0]       ts;

  wire             cur_valid = beat_start ? in_valid : valid;
  wire [TW-1:0]    cur_tag   = beat_start ? in_tag : tag;
  wire [7:0]       cur_act   = beat_start ? in_act : act;
  wire [ACC_W-1:0] base      = beat_start ? in_psum : psum;
  // The tag's set, as a mux chain (one 2:1 mux for two sets, as a plain ternary would be).
  reg [WBITS-1:0] q;
  reg             in_tile;
  integer         rs;
  always @(*) begin
    q = qs[WBITS-1:0];
    in_tile = ts[0];
    for (rs = 1; rs < WSETS; rs = rs + 1) begin
      if (cur_tag == rs[TW-1:0]) begin
        q = qs[WBITS*rs +: WBITS];
        in_tile = ts[rs];
      end
    end
  end

  wire signed [WBITS+7:0] product = $signed(cur_act) * $signed(q);
  wire [ACC_W-1:0] p_ext = {{(ACC_W - WBITS - 8){product[WBITS+7]}}, product};

  assign valid_now = cur_valid;
  assign tag_now   = cur_tag;
  assign pulse     = cur_valid && in_tile && (phase == 3'd0);
  assign psum_next = pulse ? base + p_ext : base;

  // Each register is written only when its meaning changes: act and tag when data arrives at a
  // beat start, valid also when the data has left (so that it reads 0), psum when data arrives
  // (the upper neighbour's sum, plus the phase-0 add) and on each later pulse. Mid-beat values
  // are held; nothing reads a register of a PE without valid data.
  assign opnd_we  = beat_start && in_valid;
  assign valid_we = beat_start && (in_valid || valid);
  assign psum_we  = opnd_we || pulse;
  assign w_we     = w_clear || w_en;

  integer ws;
  always @(posedge clk) begin
    if (opnd_we) begin
      act <= in_act;
      tag <= in_tag;
    end
    if (valid_we) valid <= in_valid;
    if (psum_we) psum <= psum_next;
    for (ws = 0; ws < WSETS; ws = ws + 1) begin
      if (w_we && w_tag == ws[TW-1:0]) begin
        qs[WBITS*ws +: WBITS] <= w_en ? w_q : {WBITS{1'b0}};
        ts[ws] <= w_en;
      end
    end
  end
endmodule

`default_nettype wire
