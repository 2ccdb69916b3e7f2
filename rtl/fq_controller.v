// The controller: one instruction memory per unit (dma_in, array, epilogue, dma_out), loaded
// through the instruction port before `start`, and the issue rule of docs/isa.md "Units and
// ordering": a unit's next instruction may issue when, for every unit u, at least need[u] of u's
// instructions are done (units complete in order, so this is "every dependency is done"). The
// unit itself decides whether it can take the instruction this cycle (`take`).
// The instruction word's layout is rtl/fq_isa.def (fields in rtl/fq_isa.vh); the controller reads
// only the need_* dependency counts, fq_top the unit fields.
`default_nettype none
`include "fq_isa.vh"

module fq_controller #(
    parameter IDEPTH = 1024,
    parameter AB     = $clog2(IDEPTH)
) (
    input  wire           clk,
    input  wire           rst,
    input  wire           iw_en,      // instruction port: write iw_data at iw_addr of iw_unit
    input  wire [1:0]     iw_unit,
    input  wire [AB-1:0]  iw_addr,
    input  wire [511:0]   iw_data,
    input  wire           cfg_en,     // the number of instructions of cfg_unit
    input  wire [1:0]     cfg_unit,
    input  wire [31:0]    cfg_count,
    input  wire           start,
    output wire           finished,   // every loaded instruction completed
    output wire [2047:0]  heads,      // unit u's next instruction: bits 512u +: 512
    output wire [3:0]     head_ok,    // ... exists and its dependencies are done
    input  wire [3:0]     take,       // unit u issues its head in this cycle
    input  wire [7:0]     retire_array,
    input  wire [2:0]     retire_other,  // dma_in, epilogue, dma_out: one op done at this edge
    output wire [127:0]   done_count, // per unit
    output wire [7:0]     reg_we      // register writes: each unit's head pointer (3:0), done count (7:4)
);
  reg [511:0] imem0 [0:IDEPTH-1];
  reg [511:0] imem1 [0:IDEPTH-1];
  reg [511:0] imem2 [0:IDEPTH-1];
  reg [511:0] imem3 [0:IDEPTH-1];
  reg [31:0]  count [0:3];
  reg [31:0]  ptr [0:3];
  reg [31:0]  done [0:3];
  reg         running;

  assign heads[511:0]     = imem0[ptr[0][AB-1:0]];
  assign heads[1023:512]  = imem1[ptr[1][AB-1:0]];
  assign heads[1535:1024] = imem2[ptr[2][AB-1:0]];
  assign heads[2047:1536] = imem3[ptr[3][AB-1:0]];

  genvar u;
  generate
    for (u = 0; u < 4; u = u + 1) begin : g_unit
      wire [`FQ_ISA_WORD_BITS-1:0] head = heads[`FQ_ISA_WORD_BITS*u +: `FQ_ISA_WORD_BITS];
      wire deps = `FQ_ISA_NEED_DMA_IN(head) <= done[`FQ_ISA_UNIT_DMA_IN] && `FQ_ISA_NEED_ARRAY(head) <= done[`FQ_ISA_UNIT_ARRAY] &&
                  `FQ_ISA_NEED_EPILOGUE(head) <= done[`FQ_ISA_UNIT_EPILOGUE] && `FQ_ISA_NEED_DMA_OUT(head) <= done[`FQ_ISA_UNIT_DMA_OUT];
      assign head_ok[u] = running && ptr[u] < count[u] && deps;
      assign done_count[32*u +: 32] = done[u];
    end
  endgenerate
  assign reg_we = {retire_other[2], retire_other[1], retire_array != 8'd0, retire_other[0], take};
  assign finished = running && done[0] == count[0] && done[1] == count[1] && done[2] == count[2] &&
                    done[3] == count[3];

  integer i;
  always @(posedge clk) begin
    if (iw_en) begin
      case (iw_unit)
        2'd0: imem0[iw_addr] <= iw_data;
        2'd1: imem1[iw_addr] <= iw_data;
        2'd2: imem2[iw_addr] <= iw_data;
        default: imem3[iw_addr] <= iw_data;
      endcase
    end
    if (rst) begin
      running <= 1'b0;
      for (i = 0; i < 4; i = i + 1) begin
        count[i] <= 32'd0;
        ptr[i] <= 32'd0;
        done[i] <= 32'd0;
      end
    end else begin
      if (cfg_en) count[cfg_unit] <= cfg_count;
      if (start) running <= 1'b1;
      for (i = 0; i < 4; i = i + 1) if (take[i]) ptr[i] <= ptr[i] + 32'd1;
      if (retire_other[0]) done[0] <= done[0] + 32'd1;
      if (retire_array != 8'd0) done[1] <= done[1] + {24'd0, retire_array};
      if (retire_other[1]) done[2] <= done[2] + 32'd1;
      if (retire_other[2]) done[3] <= done[3] + 32'd1;
    end
  end

`ifndef SYNTHESIS
  always @(posedge clk) begin
    if (!rst && (take & ~head_ok) != 4'd0) begin
      $display("fq_controller: a unit took an instruction that may not issue");
      $stop;
    end
  end
`endif
endmodule

`default_nettype wire
